"""The seeded demo history: a generated company whose planted truth the tests recover.

``synth`` runs the generator (:func:`generate`, :func:`generate_database`); the other
modules are its steps (world, rule, leads, touchpoints, handoffs, sales, opportunities,
plans, write, truth). A real install never depends on the demo company's settings: they
are one example, stored in the demo database like any company's (``data/settings/demo.toml``).
"""

from analysis.demo.synth import generate, generate_database

__all__ = ["generate", "generate_database"]
