"""The scoring lab's engine.

Features as of the decision point (``features``), the fitted logistic model and saved
configurations (``model``), the what-if replay (``whatif``) and the leakage evidence for
imported properties (``leakage``).
"""
