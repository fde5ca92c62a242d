import time
import tests.test_secrets as ts
orig = ts.main
def timed(argv):
    t = time.monotonic(); c = orig(argv); print("TIMING", argv[:2], round(time.monotonic() - t, 1), file=__import__("sys").__stderr__); return c
ts.main = timed
from tests.test_secrets import fake, flow, test_the_canary_key_really_went_through_the_flow  # noqa
