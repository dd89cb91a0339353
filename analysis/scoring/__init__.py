"""The scoring lab's engine.

- ``matrix``: the :class:`FeatureMatrix` (one row per lead as of its decision point);
- ``features``: the built-in features and :func:`build_features`, from the company's
  settings (:mod:`analysis.store.settings`), offered only where the history has their data;
- ``properties``: imported lead properties as features (numbers, flags, one-hot);
- ``configs``: scoring configurations (points + threshold), scores, saved rules;
- ``model`` and ``evaluate``: the fitted logistic model and its out-of-sample evaluation
  (time split, or stratified k-fold cross-validation when decision times tie);
- ``whatif``, ``routing`` and ``curve``: replaying a rule on history, rep load, the
  threshold curve;
- ``leakage``: evidence that an imported property was filled in by sales later;
- ``bands``: the current rule's score bands as SQL, for the lifecycle breakdowns.
"""
