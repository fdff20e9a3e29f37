"""Put on PYTHONPATH only by tests/test_resume.py, for the runs it kills: with
``MARL_PART_PAUSE_BEFORE_FINAL_EVAL=SECONDS`` a run waits that long between its last
checkpoint and its final evaluation, so that a kill meant for that moment lands there
every time instead of racing an evaluation that takes 0.2 s."""

import os

if seconds := float(os.environ.get("MARL_PART_PAUSE_BEFORE_FINAL_EVAL", "0")):
    import time

    from marl_part.experiments import training_run

    unpaused = training_run.final_evaluation

    def paused_final_evaluation(*args, **kwargs):
        time.sleep(seconds)
        return unpaused(*args, **kwargs)

    training_run.final_evaluation = paused_final_evaluation
