# %% [markdown]
# # Does answering faster really win more SQLs on our own history?
#
# A worked analysis in "percent" notebook format: it runs top to bottom as a script
# (`python notebooks/speed_to_lead.py`, as CI does) and opens as a notebook in Jupyter
# with jupytext. It reads the database named by `HANDOFF_DB` (default `data/demo.duckdb`).
#
# The speed-to-lead curve (MQL→SQL conversion by response-time bucket) is the number sales
# leaders quote. But fast answers are not random: hot demo requests get answered fast *and*
# convert well because they are hot. So we compare the raw curve with a logistic model that
# holds the lead's fit and engagement features fixed, and read the response-time effect off
# the adjusted coefficient.

# %%
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from analysis import config, store
from analysis import filters as flt
from analysis.lifecycle import sla
from analysis.scoring import features

con = store.connect_read_only(config.db_path())
everything = flt.Filters()

# %% [markdown]
# ## 1. The raw curve
# Conversion MQL→SQL by wall-clock response bucket, with 95% Wilson intervals.

# %%
curve = sla.speed_to_lead(con, everything, outcome="sql", clock="wall")
print(curve[["bucket", "k", "n", "rate", "low", "high"]].to_string(index=False))
answered = curve[(curve["n"] >= 30) & (curve["bucket"] != "no response")]
fastest, slowest = answered.iloc[0], answered.iloc[-1]
raw_gap = fastest["rate"] - slowest["rate"]
print(
    f"\n{fastest['bucket']}: {fastest['rate']:.0%} vs {slowest['bucket']}: {slowest['rate']:.0%} "
    f"({raw_gap * 100:+.0f} points; buckets with at least 30 MQLs)"
)

# %% [markdown]
# ## 2. Holding fit and engagement fixed
# One row per first handoff that got a response: the lead's features at its decision point
# (nothing sales recorded later), log(1 + response minutes), and whether it reached SQL.

# %%
fm = features.build_features(con)
X = pd.DataFrame(fm.X, columns=list(fm.names))
X["lead_id"] = fm.lead_ids
X["reached_sql"] = fm.reached_sql
responses = sla.response_times(con, everything)
first = responses[(responses["handoff_no"] == 1) & (responses["status"] == "responded")]
data = first[["lead_id", "response_minutes"]].merge(X, on="lead_id")
data["log1p_minutes"] = np.log1p(data["response_minutes"])
predictors = [*fm.names, "log1p_minutes"]
model = LogisticRegression(C=10.0, max_iter=2000)
model.fit(data[predictors], data["reached_sql"])
coef = dict(zip(predictors, model.coef_[0], strict=True))
speed_coef = coef["log1p_minutes"]
odds_5_vs_30 = float(np.exp(speed_coef * (np.log1p(5) - np.log1p(30))))
print(f"{len(data):,} answered first handoffs")
print(f"adjusted log-odds per unit of log(1 + minutes): {speed_coef:+.3f}")
print(f"odds of reaching SQL, answered in 5 vs 30 minutes: {odds_5_vs_30:.2f}x")

# %% [markdown]
# ## 3. Reading it
# A negative adjusted coefficient means that, for two leads alike in fit and engagement,
# the one answered sooner is more likely to be accepted. On the demo history the generator
# planted a coefficient (see the truth file next to the database); the fitted one should land
# near it. On your own data, compare the adjusted odds ratio with the raw curve: the gap
# between them is how much of the raw curve was lead quality, not speed.

# %%
truth_file = config.truth_path(config.db_path())
if truth_file.exists():
    import json

    planted = json.loads(truth_file.read_text())["speed_to_lead"]["coefficient_log1p_minutes"]
    print(f"planted coefficient {planted:+.3f}, recovered {speed_coef:+.3f}")
