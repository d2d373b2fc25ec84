"""The scenario's ``fl:`` block: how learning-class requests train (docs/qoais.md).

    fl:
      classes: [medicine, robot]   # service classes whose requests run federated training
      alpha: 0.5                   # Dirichlet concentration of the non-IID split
      clients: 10                  # clients (hospitals, robots) in a device's federation
      max_epochs: 4                # local epochs at full learning units
      participants: 5              # clients per round at full learning units
      levels: 4                    # learning-unit levels (each trained once per run)
      job_rounds: 20               # FedAvg rounds of one training job, then a new job
      selection: importance        # random | fastest | importance
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.fl.selection import STRATEGIES


class FLConfig(BaseModel):
    """Federated training of the learning classes; every field has a working default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    classes: tuple[str, ...] = Field(
        ("medicine", "robot"),
        description="service classes whose requests run real FedAvg (others use the "
                    "accuracy curve of their pre-trained model)")
    alpha: float = Field(0.5, gt=0, description="Dirichlet(alpha) label split across clients")
    clients: int = Field(10, ge=1, le=200, description="clients per federation")
    max_epochs: int = Field(4, ge=1, le=50, description="local epochs at full learning units")
    participants: int = Field(5, ge=1, description="clients per round at full learning units "
                              "(at most ``clients``)")
    levels: int = Field(4, ge=1, le=16, description="learning-unit levels: LU bought / needed "
                        "is rounded up to a multiple of 1/levels")
    job_rounds: int = Field(20, ge=1, le=500, description="FedAvg rounds per training job")
    rounds_per_step: int = Field(1, ge=1, description="FedAvg rounds per market round")
    selection: str = Field("importance", description="client selection: random, fastest, importance")
    lr: float = Field(1.0, gt=0, description="local learning rate (full-batch GD)")
    l2: float = Field(1e-4, ge=0)
    beta: float = Field(1.0, ge=0, description="importance sampling: weight of 1/round time")
    missing_max: float = Field(0.15, ge=0, lt=1, description="client missing-pixel share ~ U(0, max)")
    label_noise_max: float = Field(0.15, ge=0, lt=1, description="client label-noise share ~ U(0, max)")
    speed_sigma: float = Field(0.6, ge=0, description="log-normal sigma of client compute speeds")
    link_sigma: float = Field(0.4, ge=0, description="log-normal sigma of client link factors")
    input_noise: float = Field(0.3, ge=0, description="Gaussian input noise (pixel units) for robustness")
    prep_epochs: float = Field(0.25, ge=0, description="data cleaning cost, in epochs of compute")
    min_accuracy: float = Field(0.85, ge=0, le=1, description="held-out accuracy a learning "
                                "request needs (replaces its class's min_accuracy: digits is a "
                                "stand-in task)")

    @model_validator(mode="after")
    def _known(self) -> FLConfig:
        if self.selection not in STRATEGIES:
            raise ValueError(f"fl.selection: unknown strategy {self.selection!r} "
                             f"(choose from {', '.join(STRATEGIES)})")
        if self.participants > self.clients:
            raise ValueError(f"fl.participants: {self.participants} exceeds fl.clients ({self.clients})")
        return self
