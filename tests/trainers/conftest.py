"""Trainer tests run torch on one thread, as :func:`marl_part.trainers.runner.train` does."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    torch.set_num_threads(1)
