"""Local Kafka (KRaft) and OpenSearch as processes on 127.0.0.1, or servers named by env.

>>> from provision import Servers
>>> Servers("127.0.0.1:9092", "http://127.0.0.1:9200", True).kafka_bootstrap
'127.0.0.1:9092'
"""

from __future__ import annotations

from provision.errors import ProvisionError
from provision.stack import Servers, servers

__all__ = ["ProvisionError", "Servers", "servers"]
