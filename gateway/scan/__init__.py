"""The model scan: catalogs, probes, scores and the stored result that ranks tiers `m` and `f`.

catalog.py parses provider catalogs (pure) · probe.py sends budgeted probe turns · score.py
scores (pure) · store.py keeps the result in the state directory · view.py is what routing
reads · run.py ties them together for `xx models scan` and the gateway's background refresh.
"""
