"""Every picture of a run and its report.html, drawn after training from what it computed.

The modules: `report` (what a run draws when it ends: `write_report`), `plots` (results:
curves, confusion matrices, ROC, regions), `learning_plots` and `learning` (a network learning,
from its snapshots and gradient norms), `html_report` (the page).
"""
