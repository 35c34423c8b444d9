"""What refuses or stops an extract."""

from app.errors import Conflict, RegistryError, ServiceUnavailable, Unprocessable


class ExtractNotDue(Unprocessable):
    code = "extract_not_due"


class ExtractOutOfOrder(Conflict):
    code = "extract_out_of_order"


class ExtractChainBroken(RegistryError):
    """The previous full extract on disk no longer matches its signed manifest (lost, cut short or
    altered): a delta against it would be wrong, so none is made until it is restored."""

    status_code = 500
    code = "extract_chain_broken"


class ExtractUnavailable(ServiceUnavailable):
    code = "extract_unavailable"
