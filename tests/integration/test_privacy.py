"""doc/design.md §3, a first check (the full audit comes later): a relay that handled flows with
marker strings everywhere logs none of them, nor tokens, ids or addresses."""
from relaytest import client

MARK = "zqmark7"


def test_log_has_no_request_data(relays, database):
    # Debug logging, and the forwarded address believed, so the relay knows a client
    # address that is not also its own listening address.
    relay = relays({"database_url": database.url, "log_level": "debug",
                    "trusted_proxies": "127.0.0.1/32"})
    relay.wait_readyz(200, database="ok")
    headers = {"User-Agent": "Mozilla/5.0 " + MARK + "-agent",
               "X-Forwarded-For": "198.51.100.77", "Cookie": "sid=" + MARK + "-cookie"}
    inst = client.register(relay)
    ret = "https://" + MARK + "-host.example:8011/" + MARK + "-path?" + MARK + "-query=1"
    iss = "https://" + MARK + "-iss.example"
    secrets = [inst.id, inst.secret]

    flow = client.create_flow(relay, inst, return_url=ret, authorization_server=iss,
                              instance_state=MARK + "-state")
    sent = [("code", MARK + "-code"), ("state", flow["state"]), ("iss", iss)]
    assert client.callback(relay, sent, headers=headers).status == 303
    assert client.callback(relay, sent, headers=headers).status == 409
    secrets += [flow["state"], flow["flow_id"]]

    flow = client.create_flow(relay, inst, return_url=ret, delivery="form_post")
    sent = [("error", "access_denied"), ("error_description", MARK + "-description"),
            ("state", flow["state"])]
    assert client.callback(relay, sent, method="POST", headers=headers).status == 200
    secrets += [flow["state"], flow["flow_id"]]

    flow = client.create_flow(relay, inst, return_url=ret, authorization_server=iss)
    sent = [("code", MARK + "-code2"), ("state", flow["state"]),
            ("iss", "https://" + MARK + "-evil.example")]
    assert client.callback(relay, sent, headers=headers).status == 303
    secrets += [flow["state"], flow["flow_id"]]

    # Refusals: a token that does not open, a malformed query, a bad signature.
    assert client.callback(relay, "code=x&state=" + MARK + "-garbage",
                           headers=headers).status == 400
    assert client.callback(relay, "code=%zz" + MARK + "&state=x", headers=headers).status == 400
    bad = client.Instance(inst.id, "qs_" + MARK)
    assert client.create_flow_raw(relay, bad, return_url=ret).status == 401
    assert client.create_flow_raw(relay, inst, return_url="javascript:" + MARK).status == 400

    relay.wait_log(r"event=callback outcome=invalid")
    log = relay.log()
    assert "event=callback" in log and "event=flow_create" in log  # the events are logged
    found = [s for s in [MARK, "198.51.100.77", "Mozilla"] + secrets if s in log]
    assert not found, found
    # Nothing request-shaped at all.
    for shape in ("http://", "https://", "/v1/callback", "?code", "state="):
        assert shape not in log.lower().replace("public_url", ""), shape
