#!/usr/bin/env python3
"""Oracle check of DUBP texts with duniterpy (an independent implementation).

Usage: check_vectors.py DIR [DIR...]

For every DIR/*.dubp: parse it with duniterpy's `from_signed_raw`, check that `signed_raw()`
reproduces the file byte for byte, and verify every signature with duniterpy's VerifyingKey
(each transaction issuer separately, and the embedded identity signature of certifications and
revocations). Prints one line per file; exits non-zero on the first failure.
"""
import os
import sys

from duniterpy.documents import Certification, Identity, Membership, Revocation, Transaction
from duniterpy.key import VerifyingKey

CLASSES = {
    "Identity": Identity,
    "Certification": Certification,
    "Membership": Membership,
    "Revocation": Revocation,
    "Transaction": Transaction,
}


def signers(doc):
    """(pubkey, signature, signed text) triples to check."""
    if isinstance(doc, Transaction):
        return [(k, s, doc.raw()) for k, s in zip(doc.issuers, doc.signatures, strict=True)]
    if isinstance(doc, Identity):
        return [(doc.pubkey, doc.signature, doc.raw())]
    if isinstance(doc, Certification):
        idty = doc.identity
        return [(doc.pubkey_from, doc.signature, doc.raw()), (idty.pubkey, idty.signature, idty.raw())]
    if isinstance(doc, Membership):
        return [(doc.issuer, doc.signature, doc.raw())]
    if isinstance(doc, Revocation):
        idty = doc.identity
        return [(doc.pubkey, doc.signature, doc.raw()), (idty.pubkey, idty.signature, idty.raw())]
    raise TypeError(type(doc))


def check(path: str) -> str:
    with open(path, "rb") as f:
        raw = f.read()
    text = raw.decode("ascii")
    doc_type = text.splitlines()[1].removeprefix("Type: ")
    doc = CLASSES[doc_type].from_signed_raw(text)
    again = doc.signed_raw().encode("ascii")
    if again != raw:
        raise AssertionError(f"{path}: duniterpy re-renders a different text:\n{again.decode()}")
    triples = signers(doc)
    for pubkey, sig, signed in triples:
        if not VerifyingKey(pubkey).check_signature(signed, sig):
            raise AssertionError(f"{path}: bad signature by {pubkey}")
    return f"{doc_type} {len(raw)} B, {len(triples)} signature(s), hash {doc.sha_hash}"


def main(dirs) -> int:
    total = 0
    for d in dirs:
        names = sorted(n for n in os.listdir(d) if n.endswith(".dubp"))
        if not names:
            print(f"no .dubp file in {d}", file=sys.stderr)
            return 1
        for name in names:
            print(f"ok {os.path.join(d, name)}: {check(os.path.join(d, name))}")
            total += 1
    print(f"duniterpy oracle: {total} documents ok")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
