"""Federated learning that really trains: the ``learning`` resource of the market.

- :mod:`agents.fl.data`: sklearn's ``load_digits`` split non-IID (Dirichlet) over clients,
  with per-client data defects (missing pixels, noisy labels) and speeds;
- :mod:`agents.fl.fedavg`: softmax regression trained with FedAvg, vectorized across
  federations and clients (numpy);
- :mod:`agents.fl.selection`: client selection (random, fastest-first, importance sampling);
- :mod:`agents.fl.config`: the scenario's ``fl:`` block;
- :mod:`agents.fl.table`: training trajectories cached per (scenario, seed) and what a
  learning request gets from them (docs/qoais.md).
"""
