from models.api_key import ApiKey
from models.data_version import DataVersion
from models.database import connect_database, database, is_postgres, releases_per_request, write_transaction
from models.location import City, Country, Region, fold
from models.login_failure import LoginFailure
from models.node import Node, naive_utc_now
from models.service_secret import ServiceSecret, shared_secret
from models.user import User

__all__ = [
    "ApiKey", "City", "Country", "DataVersion", "LoginFailure", "Node", "Region", "ServiceSecret", "User",
    "connect_database", "database", "fold", "is_postgres",
    "releases_per_request", "shared_secret", "naive_utc_now", "write_transaction",
]
