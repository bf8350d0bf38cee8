"""Reporting: what a run tells its reader.

* :mod:`~latentdyn.reporting.claims` -- the claims scorecard (``claims.json``, ``claims.md``);
* :mod:`~latentdyn.reporting.report` -- the self-contained ``report.html``;
* :mod:`~latentdyn.reporting.manifest` -- ``manifest.json``: config, argv, seed, versions,
  data checksums, device, wall time, status;
* :mod:`~latentdyn.reporting.tables` -- CSV and HTML tables of result rows.
"""
