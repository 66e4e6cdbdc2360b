"""A stand-in for the `munch` package, which s3-tests imports and the local package index lacks.

s3-tests uses `munch.Munch` as a namespace whose attributes are set and read (`config.main_user_id`),
and as a dict whose keys are also attributes. This class does both; nothing else of munch is used.
"""


class Munch(dict):
    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as missing:
            raise AttributeError(name) from missing

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError as missing:
            raise AttributeError(name) from missing


def munchify(value):
    if isinstance(value, dict):
        return Munch({k: munchify(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return type(value)(munchify(v) for v in value)
    return value
Munchify = munchify
