"""tlslens.scan: a TLS server scanner that grades like SSL Labs (``tlslens scan`` on the command line).

    result = await tlslens.scan.scan_target("example.com", 443, tlslens.scan.ScanOptions())
    result.analysis.grade.grade        # "A+"
    tlslens.scan.report.to_json(result)  # the --json object (docs/scan-schema.md)

Layout: ``hellos`` (ClientHellos for any version), ``flight`` (reading the answer), ``net`` and ``fullhs``
(the only I/O: probes, complete handshakes, HTTP, AIA), ``enumerate`` (elimination strategies),
``checks_*`` (findings from the data), ``grader`` (SSL Labs rules), ``analysis``, ``report`` (JSON),
``render`` (text), ``diff``, ``runner`` (stages, concurrency).
"""

from __future__ import annotations

from tlslens.scan.runner import ScanOptions, ScanResult, scan_many, scan_target

__all__ = ["ScanOptions", "ScanResult", "scan_many", "scan_target"]
