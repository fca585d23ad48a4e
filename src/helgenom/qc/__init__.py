"""Clinical QC: `gate` (metric parsing, the coverage regions, sex and contamination checks,
thresholds, pass/warn/fail, operator overrides and the QC gate)."""
