"""Tutorial: a Hypothesis rule-based state machine against Counter (stateful fuzzing).

Each generated run (a sequence of rules) starts from a snapshot taken in ``__init__`` and
is rolled back in ``teardown``, so runs never see each other's state. The model is plain
Python; the invariant compares it with the chain after every step.
"""

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from ledger.chain.testing import expect_revert


def test_counter_matches_its_model(deploy, accounts, chain):
    counter = deploy("Counter", 5)
    owner, others = accounts.deployer, accounts[1:4]

    class CounterMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.snapshot = chain.snapshot()
            self.count = 5

        @rule(step=st.integers(min_value=1, max_value=10**6))
        def increment(self, step):
            counter.increment(step, sender=owner)
            self.count += step

        @rule(step=st.integers(min_value=0, max_value=2 * 10**6))
        def decrement(self, step):
            if step > self.count:
                with expect_revert("Error", message="Counter: below zero"):
                    counter.decrement(step)
            else:
                counter.decrement(step, sender=others[step % 3])
                self.count -= step

        @rule(who=st.sampled_from(others), step=st.integers(min_value=1, max_value=100))
        def stranger_cannot_increment(self, who, step):
            with expect_revert(counter.NotOwner, caller=who):
                counter.increment(step, sender=who)

        @invariant()
        def count_matches(self):
            assert counter.count() == self.count

        def teardown(self):
            chain.revert(self.snapshot)

    run_state_machine_as_test(
        CounterMachine,
        settings=settings(max_examples=10, stateful_step_count=6, deadline=None, derandomize=True),
    )
