"""Reporting: what a run tells its reader.

* :mod:`~latentdyn.reporting.claims` -- the claims scorecard (``claims.json``, ``claims.md``,
  the terminal table): each claim's statistic with its interval, the share of resamples
  in which its rule holds, its null or reference and, over several training seeds, how
  many seeds reproduce it;
* :mod:`~latentdyn.reporting.report` -- the self-contained ``report.html``, opening with
  the scorecard; each figure's section shows the verdicts of the claims that test it;
* :mod:`~latentdyn.reporting.tables` -- CSV and HTML tables of result rows.
"""
