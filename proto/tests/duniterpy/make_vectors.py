#!/usr/bin/env python3
"""Generate the DUBP golden vectors with duniterpy (an independent implementation).

Usage: make_vectors.py OUT_DIR

Writes OUT_DIR/NAME.dubp, the exact signed text of each document. The matching NAME.hex (Toile's
compact form) is produced by the Rust test suite from these texts (`TOILE_BLESS=1`).
Keys come from `SigningKey.from_credentials`, so the output is deterministic (Ed25519 signatures
are deterministic).
"""
import hashlib
import os
import sys

from duniterpy.documents import (
    BlockID,
    Certification,
    Identity,
    Membership,
    Revocation,
    Transaction,
)
from duniterpy.documents.transaction import InputSource, OutputSource, SIGParameter, Unlock, XHXParameter
from duniterpy.key import SigningKey


def block_id(number: int, label: str) -> BlockID:
    return BlockID(number, hashlib.sha256(label.encode()).hexdigest().upper())


def main(out: str) -> None:
    root = SigningKey.from_credentials("rootsalt", "rootpass")
    assert root.pubkey == "49WYZztGYb59QTN2BQM441nhM3xt2hCRujkF4r6XCpPV", root.pubkey
    alice = SigningKey.from_credentials("alicesalt", "alicepass")
    bob = SigningKey.from_credentials("bobsalt", "bobpass")
    docs = {}

    ts = block_id(744_213, "block 744213")
    idty = Identity(alice.pubkey, "alice_toile", ts, signing_key=alice, currency="g1")
    docs["identity"] = idty.signed_raw()

    cert = Certification(root.pubkey, idty, block_id(744_380, "block 744380"), signing_key=root, currency="g1")
    docs["certification"] = cert.signed_raw()

    ms = Membership(alice.pubkey, block_id(744_390, "block 744390"), "alice_toile", ts,
                    signing_key=alice, currency="g1", membership_type="IN")
    docs["membership_in"] = ms.signed_raw()

    ms_out = Membership(bob.pubkey, block_id(12, "block 12"), "bob-test", block_id(3, "block 3"),
                        signing_key=bob, currency="g1-test", membership_type="OUT")
    docs["membership_out_g1test"] = ms_out.signed_raw()

    rev = Revocation(idty, signing_key=alice, currency="g1")
    docs["revocation"] = rev.signed_raw()

    # A neighbourhood currency (explicit currency string).
    idty_local = Identity(bob.pubkey, "bob", block_id(0, "genesis"), signing_key=bob, currency="toile-village")
    docs["identity_local_currency"] = idty_local.signed_raw()

    stamp = block_id(744_400, "block 744400")
    # 1 input (dividend) / 2 outputs (recipient + change back to the issuer).
    tx = Transaction(
        stamp, 0, [root.pubkey],
        [InputSource(10_000, 0, "D", root.pubkey, 744_001)],
        [Unlock(0, [SIGParameter(0)])],
        [OutputSource(2_500, 0, f"SIG({alice.pubkey})"), OutputSource(7_500, 0, f"SIG({root.pubkey})")],
        "", signing_keys=root, currency="g1")
    docs["tx_d_1in_2out"] = tx.signed_raw()

    src = hashlib.sha256(b"previous transaction").hexdigest().upper()
    tx = Transaction(
        stamp, 0, [root.pubkey],
        [InputSource(1_234, 1, "T", src, 1)],
        [Unlock(0, [SIGParameter(0)])],
        [OutputSource(1_000, 1, f"SIG({bob.pubkey})"), OutputSource(234, 1, f"SIG({root.pubkey})")],
        "", signing_keys=root, currency="g1")
    docs["tx_t_1in_2out"] = tx.signed_raw()

    tx = Transaction(
        stamp, 0, [alice.pubkey],
        [InputSource(5_000, 0, "D", alice.pubkey, 744_002), InputSource(300, 0, "T", src, 0)],
        [Unlock(0, [SIGParameter(0)]), Unlock(1, [SIGParameter(0)])],
        [OutputSource(5_300, 0, f"SIG({bob.pubkey})")],
        "Merci pour le pain - marche du 12/03", signing_keys=alice, currency="g1")
    docs["tx_comment"] = tx.signed_raw()

    tx = Transaction(
        stamp, 0, [root.pubkey, alice.pubkey],
        [InputSource(1_000, 0, "D", root.pubkey, 744_001), InputSource(2_000, 0, "D", alice.pubkey, 744_001)],
        [Unlock(0, [SIGParameter(0)]), Unlock(1, [SIGParameter(1)])],
        [OutputSource(3_000, 0, f"SIG({bob.pubkey})")],
        "co-payment", signing_keys=[root, alice], currency="g1")
    docs["tx_multi_issuer"] = tx.signed_raw()

    secret_hash = hashlib.sha256(b"toile secret").hexdigest().upper()
    tx = Transaction(
        stamp, 0, [bob.pubkey],
        [InputSource(800, 0, "T", src, 2)],
        [Unlock(0, [SIGParameter(0), XHXParameter(1_872_767_826_647_264)])],
        [
            OutputSource(500, 0, f"(SIG({alice.pubkey}) && XHX({secret_hash})) || (SIG({bob.pubkey}) && CSV(604800))"),
            OutputSource(300, 0, f"SIG({bob.pubkey}) || CLTV(1780000000)"),
        ],
        "htlc", signing_keys=bob, currency="g1-test")
    docs["tx_conditions"] = tx.signed_raw()

    os.makedirs(out, exist_ok=True)
    for name, text in docs.items():
        with open(os.path.join(out, name + ".dubp"), "w", newline="\n") as f:
            f.write(text)
        print(f"{name}: {len(text)} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "vectors", "dubp"))
