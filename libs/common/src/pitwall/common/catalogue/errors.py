"""The one error of the catalogue core: a CAN description that cannot be used."""


class CatalogueError(ValueError):
    """A CAN description cantools cannot read, or one that holds nothing to use.

    The message is a single line naming the file and, where known, the line or element at
    fault: the API answers it as a 422 body and an engineer fixes the file from it.
    """
