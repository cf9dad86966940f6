from models.data_version import DataVersion, current_data_version
from models.database import connect_database, database, is_postgres, releases_per_request
from models.location import City, Country, Region, fold
from models.node import Node, utc_now

__all__ = [
    "City", "Country", "DataVersion", "Node", "Region",
    "connect_database", "current_data_version", "database", "fold", "is_postgres",
    "releases_per_request", "utc_now",
]
