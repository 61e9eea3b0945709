"""Customer and vendor mutations against the sandbox over HTTP, with their validation errors."""

from __future__ import annotations

from tests.graph.write_harness import data_of, error_of, graph_over_sandbox, unsupported

CREATE = """
mutation Create($input: CustomerInput!, $key: String) {
  createCustomer(input: $input, idempotencyKey: $key) {
    id number name email serviceAddress { line1 city state zip }
  }
}"""
UPDATE = """
mutation Update($number: Int!, $input: CustomerInput!) {
  updateCustomer(number: $number, input: $input) { number name phone billingAddress { city } }
}"""
DELETE = """
mutation Delete($number: Int!, $key: String) {
  deleteCustomer(number: $number, idempotencyKey: $key) { number name }
}"""
NOTE = """
mutation Note($number: Int!, $body: String!) {
  addCustomerNote(customerNumber: $number, input: {body: $body}) { body about public }
}"""
TAGS = """
mutation Tags($number: Int!, $add: [String!], $remove: [String!]) {
  tagCustomer(customerNumber: $number, add: $add, remove: $remove)
}"""

NEW = {
    "firstName": "Ada",
    "lastName": "Quist",
    "email": "ada@example.com",
    "serviceAddress": {"line1": "12 Elm St", "city": "Salem", "state": "OR", "zip": "97301"},
}


async def test_create_customer_once_and_kickserv_names_it():
    async with graph_over_sandbox() as h:
        created = data_of(await h.gql(CREATE, {"input": NEW, "key": "c-1"}))["createCustomer"]
        again = data_of(await h.gql(CREATE, {"input": NEW, "key": "c-1"}))["createCustomer"]
        assert created == again
        assert created["name"] == "Ada Quist"
        assert created["serviceAddress"] == {
            "line1": "12 Elm St", "city": "Salem", "state": "OR", "zip": "97301",
        }  # fmt: skip
        assert sum(c.name == "Ada Quist" for c in h.store.customers.values()) == 1


async def test_create_customer_input_errors_name_their_paths():
    async with graph_over_sandbox() as h:
        h.sandbox.reset_requests()
        nameless = error_of(await h.gql(CREATE, {"input": {"email": "x@example.com"}}))
        assert nameless["extensions"]["invalidFields"][0]["path"] == ["input", "name"]
        bad = {"name": "B", "email": "not-an-email", "billingAddress": {"city": " " * 3}}
        error = error_of(await h.gql(CREATE, {"input": bad}))
        assert [f["path"] for f in error["extensions"]["invalidFields"]] == [["input", "email"]]
        parent = error_of(await h.gql(CREATE, {"input": {"name": "C", "parentId": "x1"}}))
        assert parent["extensions"]["invalidFields"][0]["path"] == ["input", "parentId"]
        assert h.sandbox.requests() == []
        unknown_parent = {"name": "C", "parentId": "999999"}
        upstream = error_of(await h.gql(CREATE, {"input": unknown_parent}))
        assert upstream["extensions"]["invalidFields"] == [
            {"path": ["input", "parentId"], "message": "Parent is invalid"}
        ]


async def test_update_customer_changes_only_what_is_given():
    async with graph_over_sandbox() as h:
        before = h.store.customers_by_number[4]
        name = before.name
        answer = await h.gql(
            UPDATE,
            {"number": 4, "input": {"phone": "555-0100", "billingAddress": {"city": "Bend"}}},
        )
        assert data_of(answer)["updateCustomer"] == {
            "number": 4, "name": name, "phone": "555-0100", "billingAddress": {"city": "Bend"},
        }  # fmt: skip
        nothing = error_of(await h.gql(UPDATE, {"number": 4, "input": {}}))
        assert nothing["extensions"]["code"] == "BAD_USER_INPUT"


async def test_delete_customer_answers_it_as_it_was_and_replays():
    async with graph_over_sandbox() as h:
        name = h.store.customers_by_number[6].name
        gone = data_of(await h.gql(DELETE, {"number": 6, "key": "d-6"}))["deleteCustomer"]
        assert gone == {"number": 6, "name": name}
        assert 6 not in h.store.customers_by_number
        assert data_of(await h.gql(DELETE, {"number": 6, "key": "d-6"}))["deleteCustomer"] == gone
        missing = error_of(await h.gql(DELETE, {"number": 6, "key": "d-6-again"}))
        assert missing["extensions"]["code"] == "NOT_FOUND"


async def test_customer_notes_and_tags():
    async with graph_over_sandbox() as h:
        note = data_of(await h.gql(NOTE, {"number": 2, "body": " Dog in yard "}))
        assert note["addCustomerNote"] == {
            "body": "Dog in yard",
            "about": "Customer",
            "public": False,
        }
        blank = error_of(await h.gql(NOTE, {"number": 2, "body": "   "}))
        assert blank["extensions"]["invalidFields"][0]["path"] == ["input", "body"]
        h.store.customers_by_number[2].tags = ["gold"]
        added = await h.gql(TAGS, {"number": 2, "add": ["net30", "gold"]})
        if h.strict:  # a Kickserv without PUT /customers/{n}/tags.json: refused, nothing changed
            unsupported(added, "PUT /customers/{n}/tags.json")
            assert h.store.customers_by_number[2].tags == ["gold"]
            return
        tags = data_of(added)
        assert tags["tagCustomer"] == ["gold", "net30"]
        tags = data_of(await h.gql(TAGS, {"number": 2, "remove": ["gold"]}))
        assert tags["tagCustomer"] == ["net30"]
        both = error_of(await h.gql(TAGS, {"number": 2, "add": ["a"], "remove": ["a"]}))
        assert both["extensions"]["invalidFields"][0]["path"] == ["remove"]


VENDOR = """
mutation Vendor($input: VendorInput!, $key: String) {
  createVendor(input: $input, idempotencyKey: $key) { id name active }
}"""
UPDATE_VENDOR = """
mutation Vendor($id: ID!, $input: VendorInput!) {
  updateVendor(id: $id, input: $input) { id name active }
}"""


async def test_vendors_create_and_update():
    async with graph_over_sandbox() as h:
        made = data_of(await h.gql(VENDOR, {"input": {"name": "Ferguson Supply"}, "key": "v1"}))
        vendor = made["createVendor"]
        assert vendor["name"] == "Ferguson Supply" and vendor["active"] is True
        again = data_of(await h.gql(VENDOR, {"input": {"name": "Ferguson Supply"}, "key": "v1"}))
        assert again["createVendor"] == vendor
        taken = error_of(await h.gql(VENDOR, {"input": {"name": "ferguson supply"}, "key": "v2"}))
        assert taken["extensions"]["invalidFields"] == [
            {"path": ["input", "name"], "message": "Name has already been taken"}
        ]
        retired = await h.gql(UPDATE_VENDOR, {"id": vendor["id"], "input": {"active": False}})
        assert data_of(retired)["updateVendor"]["active"] is False
        blank = error_of(await h.gql(VENDOR, {"input": {"name": ""}}))
        assert blank["extensions"]["invalidFields"][0]["path"] == ["input", "name"]
