"""The ledger layer: the chain side (`ledger.chain`: compile, Anvil, deploy, settle,
reconcile) and the run store (`ledger.store`, SQLAlchemy). Money units: `ledger.units`.

Nothing heavy is imported here, so `import ledger.units` stays cheap.
"""
