# Fill the gaps of a gVCF chunk with "no data" blocks, so the chunk's records cover every base.
#
#   bcftools view chunk.g.bcf | awk -v mindp=MinDP -v alt=. -f gvcf_fill_gaps.awk chunk.bed - \
#     | bcftools norm --do-not-normalize --check-ref s --fasta-ref ref.fa ...
#
# bcftools mpileup emits no site without reads, so bcftools call --gvcf leaves such stretches
# out. Each gap within the chunk's BED intervals becomes one record: REF N (set to the reference
# base by `bcftools norm --check-ref s`), ALT `alt`, INFO/END and INFO/<mindp>=0, GT ./., DP 0.
# Input: the chunk's BED (0-based, in genome order) and the chunk's gVCF (sorted, same order).

function gap(i, from, to) {  # 0-based half-open [from, to) inside interval i
    if (to > from)
        printf "%s\t%d\t.\tN\t%s\t.\t.\tEND=%d;%s=0\tGT:DP\t./.:0\n", chrom[i], from + 1, alt, to, mindp
}

function record_end(    m) {  # 0-based exclusive end of the current record
    if (match($8, /(^|;)END=[0-9]+/)) {
        m = substr($8, RSTART, RLENGTH)
        sub(/^;?END=/, "", m)
        return m + 0
    }
    return $2 - 1 + length($4)
}

BEGIN { FS = OFS = "\t"; n = 0; i = 0 }

FNR == NR {  # the BED
    if ($0 ~ /^(#|track|browser)/ || NF < 3) next
    chrom[n] = $1; start[n] = $2 + 0; stop[n] = $3 + 0; n++
    next
}

/^#/ { print; next }

{
    if (i == 0 && !started) { cursor = start[0]; started = 1 }
    # Close the intervals this record lies beyond (another contig, or past their end).
    while (i < n && ($1 != chrom[i] || $2 - 1 >= stop[i])) {
        gap(i, cursor, stop[i])
        i++
        if (i < n) cursor = start[i]
    }
    if (i < n && $2 - 1 > cursor) gap(i, cursor, $2 - 1)
    print
    end = record_end()
    if (i < n && end > cursor) cursor = end
}

END {
    if (!started && n > 0) cursor = start[0]
    while (i < n) {
        gap(i, cursor, stop[i])
        i++
        if (i < n) cursor = start[i]
    }
}
