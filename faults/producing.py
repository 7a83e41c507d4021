"""The suite's input producer: every record in the topic exactly once, or a clear failure.

The fault suite restarts the broker while its input is being produced, so the producer must
be at least as reliable as the connector it checks, or a failed verdict says nothing about
the connector (issue 11: 3,965 of 20,000 records lost around a broker restart, because a
fatal error of the idempotent producer ended the producing thread).

:class:`Producing` therefore:

- produces with an idempotent producer (``acks=all``, a 5 minute delivery timeout) and
  checks every delivery report;
- replaces the producer after a fatal error (an idempotent producer cannot go on after one)
  and keeps producing;
- once the input is through, re-sends every record without a successful report, after
  reading the topic back, so a record that was written although its report said otherwise
  is not sent twice (each message carries its input number in the ``faults.seq`` header);
- finally builds :attr:`Producing.expected` from the topic itself (what the connector will
  read), and :attr:`Producing.failed` / :attr:`Producing.repeated` say what is not exact.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from faults.inputs import InputRecord

__all__ = ["SEQ_HEADER", "Producing", "read_back"]

logger = logging.getLogger(__name__)

#: Header holding a message's index in the input list.
SEQ_HEADER = "faults.seq"

Pos = tuple[int, int]


def read_back(bootstrap: str, topic: str, timeout: float = 120.0) -> dict[int, list[Pos]]:
    """``input index -> positions`` of every message of ``topic`` carrying :data:`SEQ_HEADER`
    (from the start to the high watermarks read first; **blocks**)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"faults-readback-{topic}",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    found: dict[int, list[Pos]] = {}
    deadline = time.monotonic() + timeout
    try:
        parts = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), 30)[1]
                for p in parts}
        todo = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in todo])
        while todo:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} not read back in {timeout:.0f}s: {sorted(todo)}")
            for msg in consumer.consume(5000, 1.0):
                if msg.error() is not None:
                    if msg.error().code() != KafkaError._PARTITION_EOF:
                        logger.warning("read back error=%s", msg.error())
                    elif msg.offset() >= ends[msg.partition()]:
                        todo.discard(msg.partition())
                    continue
                seq = dict(msg.headers() or []).get(SEQ_HEADER)
                if seq is not None:
                    found.setdefault(int(seq), []).append((msg.partition(), msg.offset()))
                if msg.offset() + 1 >= ends[msg.partition()]:
                    todo.discard(msg.partition())
    finally:
        consumer.close()
    return found


class Producing:
    """Produce the input at ``rate`` records/s in a thread; exactly once, checked.

    After :meth:`join`, ``expected`` maps ``(partition, offset)`` to ``(identity, fate)``
    for every input record found in the topic, ``failed`` lists records that could not be
    produced, and ``repeated`` counts records found in the topic more than once.
    """

    def __init__(self, bootstrap: str, topic: str, records: list[InputRecord],
                 rate: float, *, rounds: int = 5) -> None:
        self.bootstrap, self.topic, self.records, self.rate = bootstrap, topic, records, rate
        self.rounds = rounds
        self.expected: dict[Pos, tuple[str, str]] = {}
        self.failed: list[str] = []
        self.repeated = 0
        self.resent = 0  # records produced again after a failed delivery report
        self.producers = 0  # producers used (more than one: a fatal error replaced one)
        self._confirmed: set[int] = set()
        self._errors: dict[int, str] = {}
        self._fatal = threading.Event()
        self._producer: Any = None
        self._thread = threading.Thread(target=self._run, name="producing", daemon=True)
        self._crash: BaseException | None = None

    def start(self) -> Producing:
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)
        if self._crash is not None:
            raise RuntimeError(f"input producer crashed: {self._crash!r}") from self._crash

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    # -- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._produce_all()
            self._settle()
        except BaseException as exc:  # noqa: BLE001 - reported by join(), never silent
            self._crash = exc
            logger.exception("input producer crashed")

    def _new_producer(self) -> Any:
        from confluent_kafka import Producer

        if self._producer is not None:
            self._producer.flush(5)  # the fatal one fails what it holds: reports are checked
        self._fatal.clear()
        self.producers += 1

        def on_error(err: Any) -> None:
            if err.fatal():
                logger.warning("input producer fatal error=%s: replacing it", err)
                self._fatal.set()

        self._producer = Producer({
            "bootstrap.servers": self.bootstrap, "enable.idempotence": True, "acks": "all",
            "linger.ms": 10, "delivery.timeout.ms": 300_000, "error_cb": on_error})
        return self._producer

    def _send(self, seq: int) -> None:
        from confluent_kafka import KafkaException

        rec = self.records[seq]

        def delivered(err: Any, _msg: Any) -> None:
            if err is None:
                self._confirmed.add(seq)
                self._errors.pop(seq, None)
            else:
                self._errors[seq] = str(err)

        while True:
            if self._fatal.is_set() or self._producer is None:
                self._new_producer()
            try:
                self._producer.produce(self.topic, rec.value, rec.key, on_delivery=delivered,
                                       headers=[(SEQ_HEADER, str(seq).encode())])
                return
            except BufferError:  # local queue full (a broker restart): let it drain
                self._producer.poll(0.5)
            except KafkaException as exc:  # a fatal producer refuses everything
                if not self._fatal.is_set():
                    raise
                logger.warning("input produce refused error=%s: new producer", exc)

    def _produce_all(self) -> None:
        began = time.monotonic()
        for seq in range(len(self.records)):
            self._send(seq)
            self._producer.poll(0)
            ahead = began + (seq + 1) / self.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        self._producer.flush(300)

    def _settle(self) -> None:
        """Re-send what has no successful report (unless the topic has it); then read the
        topic back into :attr:`expected`."""
        for _ in range(self.rounds):
            missing = [s for s in range(len(self.records)) if s not in self._confirmed]
            if not missing:
                break
            landed = read_back(self.bootstrap, self.topic)
            resend = [s for s in missing if s not in landed]
            self._confirmed.update(s for s in missing if s in landed)
            logger.warning("input: %d record(s) without a delivery report, %d of them not in "
                           "the topic: producing them again", len(missing), len(resend))
            for seq in resend:
                self.resent += 1
                self._send(seq)
                self._producer.poll(0)
            self._producer.flush(300)
        found = read_back(self.bootstrap, self.topic)
        for seq, rec in enumerate(self.records):
            positions = found.get(seq, [])
            if not positions:
                self.failed.append(f"{rec.ident}: {self._errors.get(seq, 'not in the topic')}")
            self.repeated += max(0, len(positions) - 1)
            for pos in positions:
                self.expected[pos] = (rec.ident, rec.fate)
