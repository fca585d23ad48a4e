"""SV caller output for the tests of helgenom.sv (tests/unit/test_sv.py, tests/workflow/
test_sv_merge.py): a delly-like and a TIDDIT-like single-sample VCF of one sample S1."""

from __future__ import annotations

from pathlib import Path

# A delly-like single-sample VCF: contigs c1 (out of order in the records), c2.
HEADER = """##fileformat=VCFv4.2
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=LowQual,Description="Poor quality and insufficient number of PEs and SRs.">
##contig=<ID=c1,length=100000>
##contig=<ID=c2,length=50000>
##ALT=<ID=DEL,Description="Deletion">
##INFO=<ID=PRECISE,Number=0,Type=Flag,Description="Precise structural variation">
##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">
##INFO=<ID=END,Number=1,Type=Integer,Description="End position">
##INFO=<ID=CHR2,Number=1,Type=String,Description="Chromosome for POS2">
##INFO=<ID=POS2,Number=1,Type=Integer,Description="Genomic position for CHR2">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1
"""
RECORDS = [
    "c2\t1000\tBND1\tA\tA[c1:5001[\t900\tPASS\tPRECISE;SVTYPE=BND;END=1001;CHR2=c1;POS2=5000"
    "\tGT\t0/1",
    "c1\t20000\tDEL1\tA\t<DEL>\t800\tPASS\tPRECISE;SVTYPE=DEL;END=22000\tGT\t1/1",
    "c1\t3000\tDUP1\tA\t<DUP>\t700\tPASS\tSVTYPE=DUP;END=3400\tGT\t0/1",
    "c1\t40000\tDEL2\tA\t<DEL>\t20\tLowQual\tSVTYPE=DEL;END=41000\tGT\t0/1",  # not PASS
    "c1\t60000\tDEL3\tA\t<DEL>\t500\tPASS\tSVTYPE=DEL;END=60030\tGT\t0/1",  # 30 bp
    "c1\t70000\tINV1\tA\t<INV>\t500\tPASS\tSVTYPE=INV;END=75000\tGT\t0/1",
]
# Panel genes: G1 holds the translocation's c1 breakpoint and the DUP's end, G2 lies inside
# the deletion, G3 starts right after it (0-based 22000 = 1-based 22001: untouched).
BED = "# a panel\nc1\t4990\t5010\tG1\texon1\nc1\t3399\t3500\tG1\texon2\nc1\t21000\t21100\tG2\n"
BED += "c1\t22000\t23000\tG3\n"


# A TIDDIT-like VCF (3.5.2 --skip_assembly): VCFv4.1, REF N, DUP:TANDEM, each translocation
# junction written from both sides, FORMAT DR with two values (delly's has one).
TIDDIT_HEADER = """##fileformat=VCFv4.1
##source=TIDDIT-3.5.2
##ALT=<ID=DEL,Description="Deletion">
##ALT=<ID=DUP:TANDEM,Description="Tandem duplication">
##contig=<ID=c1,length=100000>
##contig=<ID=c2,length=50000>
##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">
##INFO=<ID=END,Number=1,Type=Integer,Description="End of an intra-chromosomal variant">
##INFO=<ID=SVLEN,Number=.,Type=Integer,Description="Difference in length">
##INFO=<ID=LTE,Number=2,Type=Integer,Description="Read-pairs and split reads supporting the event">
##FILTER=<ID=BelowExpectedLinks,Description="The number of links between A and B is too small">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=CN,Number=1,Type=Integer,Description="Copy number genotype for imprecise events">
##FORMAT=<ID=DR,Number=2,Type=Integer,Description="Paired-ends supporting the reference allele">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1
"""
TIDDIT_RECORDS = [
    "c1\t3001\tSV_1_1\tN\t<DUP:TANDEM>\t40\tPASS\tSVTYPE=DUP:TANDEM;SVLEN=402;END=3402;LTE=9,4"
    "\tGT:CN:DR\t0/1:3:10,12",
    "c1\t5001\tSV_2_1\tN\t]c2:1000]N\t50\tPASS\tSVTYPE=BND;LTE=12,5\tGT:CN:DR\t0/1:2:11,9",
    "c1\t20001\tSV_3_1\tN\t<DEL>\t80\tPASS\tSVTYPE=DEL;SVLEN=2000;END=22001;LTE=20,8"
    "\tGT:CN:DR\t1/1:0:0,1",
    "c1\t60000\tSV_4_1\tN\t<DEL>\t80\tPASS\tSVTYPE=DEL;SVLEN=30;END=60030;LTE=5,5"
    "\tGT:CN:DR\t0/1:1:9,9",  # 30 bp
    "c1\t80000\tSV_5_1\tN\t<DEL>\t5\tBelowExpectedLinks\tSVTYPE=DEL;SVLEN=5000;END=85000;"
    "LTE=2,0\tGT:CN:DR\t0/1:1:20,20",  # not PASS
    "c1\t90000\tSV_6_1\tN\t<DEL>\t70\tPASS\tSVTYPE=DEL;SVLEN=2000;END=92000;LTE=15,6"
    "\tGT:CN:DR\t0/1:1:14,16",  # tiddit only
    "c2\t1000\tSV_2_2\tN\tN[c1:5001[\t50\tPASS\tSVTYPE=BND;LTE=12,5\tGT:CN:DR\t0/1:2:11,9",
]
DELLY_DR = '##FORMAT=<ID=DR,Number=1,Type=Integer,Description="# high-quality reference pairs">\n'


def two_callers(tmp_path: Path, tiddit: list[str] = TIDDIT_RECORDS) -> dict[str, Path]:
    delly = tmp_path / "delly.vcf"
    delly.write_text(
        HEADER.replace("\\t", "\t").replace("#CHROM", DELLY_DR + "#CHROM")
        + "".join(r + "\n" for r in RECORDS)
    )
    path = tmp_path / "tiddit.vcf"
    path.write_text(TIDDIT_HEADER.replace("\\t", "\t") + "".join(r + "\n" for r in tiddit))
    return {"delly": delly, "tiddit": path}
