"""The seeded demo history: a generated company whose planted truth the tests recover.

Nothing outside the demo and the tests imports this package: a real install never depends
on the demo company's settings.
"""
