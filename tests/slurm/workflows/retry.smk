# A two-rule workflow for testing a site profile's retry behaviour on the real test cluster.
# `needs_memory` fails unless it was given at least 1500 MB: with the profile's retries its
# second attempt (memory grown from 1000 MB by half) succeeds. `always_fails` never succeeds.
from helgenom.resources import mem_mb


rule all:
    input:
        "done/needs_memory.txt",


rule needs_memory:
    output:
        "done/needs_memory.txt",
    log:
        "logs/needs_memory.log",
    resources:
        # The memory grows with the attempt as in every helgenom rule (resources.mem_mb).
        mem_mb=lambda wildcards, attempt: mem_mb("small", 0, 1, attempt),
        runtime=5,
    shell:
        "echo attempt={resources.mem_mb} > {log}; test {resources.mem_mb} -ge 1500 && touch {output}"


rule always_fails:
    output:
        "done/{sample}.never.txt",
    log:
        "logs/always_fails/{sample}.log",
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "echo 'simulated tool failure' > {log}; exit 3"
