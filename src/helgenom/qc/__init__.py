"""Clinical QC, one module per concern:

* `parsers`: readers of the tools' outputs (samtools flagstat/markdup/stats, mosdepth,
  bcftools stats).
* `coverage`: the coverage regions and the reference's non-N (ACGT) lengths, BED helpers, the
  MultiQC coverage table.
* `sex_contamination`: the sex inferred from X/Y coverage, the contamination estimated from
  allele counts.
* `overrides`: the operators' overrides of failing metrics (the overrides file).
* `gate`: the metric catalogue, a sample's metrics, thresholds, pass/warn/fail, the gate and
  its verdict, the MultiQC gate table, the QC config check before any job.
"""
