"""Deals and the people and organisations behind them: deals, stages and their history,
contacts, companies, converting a qualified lead, the board and the forecast.

Sits above ``leads`` (a deal comes from a lead and may use its services); the features
that span both, such as follow-ups, sit above it and hear of its changes by signal
(``signals``).
"""
