"""The job the rescale measurement submits (``flink run -pym marl_part.deploy.probe
PARALLELISM``): a random stream of keys, counted per key in keyed state by PARALLELISM
subtasks, running until cancelled."""

from __future__ import annotations

import sys

from pyflink.common import Types
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.functions import KeyedProcessFunction
from pyflink.datastream.state import ValueStateDescriptor
from pyflink.table import StreamTableEnvironment

from marl_part.deploy.engine import MAX_PARALLELISM

KEYS = 1024
RATE = 1000  # tuples per second


class CountKeys(KeyedProcessFunction):
    def open(self, context):
        self.count = context.get_state(ValueStateDescriptor("count", Types.LONG()))

    def process_element(self, record, context):
        self.count.update((self.count.value() or 0) + 1)
        return iter(())


def main(parallelism: int) -> None:
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    env.set_max_parallelism(MAX_PARALLELISM)
    tables = StreamTableEnvironment.create(env)
    tables.execute_sql(
        "CREATE TEMPORARY TABLE keys (k BIGINT) WITH ('connector' = 'datagen', "
        f"'rows-per-second' = '{RATE}', 'fields.k.min' = '0', 'fields.k.max' = '{KEYS - 1}')")
    stream = tables.to_data_stream(tables.from_path("keys"))
    stream.key_by(lambda row: row[0], key_type=Types.LONG()).process(
        CountKeys(), output_type=Types.LONG()).set_parallelism(parallelism).print()
    env.execute_async("marl-part rescale probe")


if __name__ == "__main__":
    main(int(sys.argv[1]))
