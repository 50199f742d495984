from workloads.generator import Invocation, fn, mix, once, periodic, seq, simulate, sleep, stagger, time_limit


def brief(ops):
    return [(op.time / 1e9, op.process, op.type, op.f, op.value) for op in ops]


def test_periodic_keeps_its_cadence_whatever_the_latency():
    gen = time_limit(25, periodic(10, (10, "kill", "one"), (12, "start", "all")))
    assert brief(simulate(gen, processes=("nemesis",), latency=3)) == [
        (10.0, "nemesis", "invoke", "kill", "one"), (13.0, "nemesis", "ok", "kill", "one"),
        (13.0, "nemesis", "invoke", "start", "all"), (16.0, "nemesis", "ok", "start", "all"),
        (20.0, "nemesis", "invoke", "kill", "one"), (23.0, "nemesis", "ok", "kill", "one"),
        (23.0, "nemesis", "invoke", "start", "all"), (26.0, "nemesis", "ok", "start", "all"),
    ]


def test_seq_sleep_once():
    gen = seq(once("a"), sleep(1), once("b"))
    assert brief(simulate(gen, latency=0.5)) == [
        (0.0, 0, "invoke", "a", None), (0.5, 0, "ok", "a", None),
        (1.5, 0, "invoke", "b", None), (2.0, 0, "ok", "b", None),
    ]


def test_same_seed_same_ops_and_time_limit_bounds_them():
    def gen():
        return time_limit(0.05, stagger(0.002, mix(fn(lambda c: Invocation("r", c.rng.randint(0, 9))),
                                                   fn(lambda c: Invocation("w", c.rng.randint(0, 9))))))

    a = simulate(gen(), processes=(0, 1), seed=7)
    assert a == simulate(gen(), processes=(0, 1), seed=7)
    assert a != simulate(gen(), processes=(0, 1), seed=8)
    invokes = [op for op in a if op.type == "invoke"]
    assert invokes and all(op.time < 0.05e9 for op in invokes)
    assert {op.f for op in invokes} == {"r", "w"}
    assert {op.process for op in invokes} == {0, 1}


def test_lane_update_says_whether_a_completion_changed_the_generator():
    import random

    from checkers.history import Op
    from workloads.generator import Context, Lane

    class Counting:  # a generator that reacts to completions
        def __init__(self, seen=0):
            self.seen = seen

        def op(self, ctx):
            return Invocation("r", self.seen), self

        def update(self, ctx, event):
            return Counting(self.seen + 1)

    ctx, done = Context(0, (), random.Random(0)), Op(1, 5, "ok", 0, "r", None)
    for gen in (time_limit(5, stagger(0.1, seq(fn(lambda c: Invocation("r")), once("w")))),
                mix(once("a"), once("b")), periodic(1, (0, "kill", "one"))):
        lane = Lane(gen)
        assert lane.update(ctx, done) is False and lane.gen is gen
    lane = Lane(time_limit(5, seq(Counting(), once("w"))))
    assert lane.update(ctx, done) is True
    assert lane.poll(ctx) == Invocation("r", 1)
    assert Lane(None).update(ctx, done) is False
