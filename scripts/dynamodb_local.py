#!/usr/bin/env python3
"""Run moto's DynamoDB-compatible server on 127.0.0.1 for local runs and tests.

Why not `moto_server` itself: it serves requests on many threads, and moto does not lock a
table between checking a write's condition and applying it, so two concurrent conditional
writes can both pass. Real DynamoDB makes each conditional write and each transaction atomic;
serving one request at a time gives the same guarantee, which the concurrency tests rely on.

Why moto's TransactWriteItems is patched: moto 5.2.1 takes its rollback snapshot by deep-copying
the *whole table* once per item of every transaction, so a transaction costs time in proportion
to the table's size (about a second per 2-item transaction once a table holds 100,000 items).
The replacement below runs the same checks in the same order with the same errors, but snapshots
only the items the transaction touches and, when the transaction is cancelled, puts exactly
those back. A cancelled transaction still leaves nothing written (tested by
shared/tests/integration/reconcile_dynamodb.rs, `a_cancelled_transaction_leaves_nothing_written`). The patch is
applied only to the moto version it was written against; `--no-fast-transactions` turns it off.
It keeps DynamoDB Streams right too: a committed transaction leaves one stream record per
write (moto's own put, update and delete add them), a cancelled one leaves none.

Two smaller fixes (the item size check, the garbage collector) are explained where they are
defined below; the same flag turns them off.
"""
import argparse
import copy
import gc
import sys

try:
    import moto
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple
except ImportError:
    sys.exit("moto's server is not installed: pip install 'moto[server]'")

PATCHED_MOTO_VERSION = "5.2.1"


def install_fast_transactions() -> bool:
    """Replace DynamoDBBackend.transact_write_items; False when this moto is not the one known."""
    if moto.__version__ != PATCHED_MOTO_VERSION:
        print(
            f"dynamodb_local: moto {moto.__version__} is not {PATCHED_MOTO_VERSION}; "
            "TransactWriteItems left unpatched (correct, but slow on large tables)",
            file=sys.stderr,
        )
        return False
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend

    def transact_write_items(self, transact_items):
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        # (table, hash key, range key, item before this transaction or None, hash key existed)
        undo = []
        # Tables with a stream: how many stream records each had before this transaction. A
        # cancelled transaction must leave no stream record behind either (DynamoDB writes a
        # record only for a committed change), so rollback cuts the stream back to that length.
        stream_marks = {}

        def rollback():
            for table, mark in stream_marks.values():
                del table.stream_shard.items[mark:]
            for table, hash_key, range_key, before, had_hash in reversed(undo):
                if range_key is not None:
                    bucket = table.items[hash_key]
                    if before is None:
                        bucket.pop(range_key, None)
                    else:
                        bucket[range_key] = before
                    if not had_hash and not bucket:
                        del table.items[hash_key]
                elif before is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = before

        target_items = set()

        def check_unicity(table_name, key):
            item = (str(table_name), str(dict(sorted(key.items()))))
            if item in target_items:
                raise MultipleTransactionsException()
            target_items.add(item)

        errors = []  # [(Code, Message, Item), ..], as moto builds it
        for item in transact_items:
            original_item = None
            if len(list(item.keys())) > 1:
                raise TransactWriteSingleOpException
            try:
                op_type, op = next(iter(item.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")

                table_name = op["TableName"]
                condition_expression = op.get("ConditionExpression")
                expression_attribute_names = op.get("ExpressionAttributeNames")
                expression_attribute_values = op.get("ExpressionAttributeValues")
                return_values_on_condition_check_failure = op.get(
                    "ReturnValuesOnConditionCheckFailure"
                )

                if op_type == "Put":
                    attrs = op["Item"]
                    table = self.get_table(table_name)
                    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = attrs[table.range_key_attr]
                else:
                    key = op["Key"]

                check_unicity(table_name, key)

                table = self.get_table(table_name)
                if table.stream_shard is not None and id(table) not in stream_marks:
                    stream_marks[id(table)] = (table, len(table.stream_shard.items))
                hash_key, range_key = self.get_keys_value(table, key)
                had_hash = hash_key in table.items
                current = self.get_item(table_name, key)
                if condition_expression is not None:
                    condition_op = get_filter_expression(
                        condition_expression,
                        expression_attribute_names,
                        expression_attribute_values,
                    )
                    if not condition_op.expr(current):
                        if return_values_on_condition_check_failure == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)

                # The one snapshot: this item as it was (Update changes an item in place).
                undo.append((table, hash_key, range_key, copy.deepcopy(current), had_hash))
                # moto passes the condition on and evaluates it a second time against the same
                # item (one request at a time: nothing changed it); the result is the same.
                if op_type == "Put":
                    self.put_item(table_name, op["Item"])
                elif op_type == "Delete":
                    self.delete_item(table_name, key)
                elif op_type == "Update":
                    self.update_item(
                        table_name,
                        key,
                        update_expression=op["UpdateExpression"],
                        condition_expression=None,
                        expression_attribute_names=expression_attribute_names,
                        expression_attribute_values=expression_attribute_values,
                    )
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                rollback()
                raise
            except ConditionalCheckFailed as e:
                errors.append(("ConditionalCheckFailed", str(e.message), original_item))
            except Exception as e:  # noqa: E722, as moto: any other failure cancels
                errors.append((type(e).__name__, str(e), original_item))

        if any(code is not None for code, _, _ in errors):
            rollback()
            raise TransactionCanceledException(errors)

    DynamoDBBackend.transact_write_items = transact_write_items
    return True


def install_condition_parse_cache(size: int = 4096) -> bool:
    """Memoise moto's condition/filter expression parser.

    moto parses every condition expression two or three times per write (request validation,
    the check, the write) and the parse is most of a conditional write's cost. `parse()` is a pure
    function of the expression, the names and the values, and the tree it returns is only read
    afterwards, so the same inputs get the same tree (and the same names/values-found lists)
    from a bounded cache. Failures are not cached: they raise again, as before.
    """
    if moto.__version__ != PATCHED_MOTO_VERSION:
        return False
    import json
    from collections import OrderedDict

    from moto.dynamodb.comparisons import ConditionExpressionParser

    original_parse = ConditionExpressionParser.parse
    cache = OrderedDict()

    def parse(self):
        try:
            key = (
                self.condition_expression,
                json.dumps(self.expression_attribute_names, sort_keys=True),
                json.dumps(self.expression_attribute_values, sort_keys=True),
            )
        except (TypeError, ValueError):
            return original_parse(self)
        hit = cache.get(key)
        if hit is not None:
            cache.move_to_end(key)
            tree, names_found, values_found = hit
            self.expr_attr_names_found = list(names_found)
            self.expr_attr_values_found = list(values_found)
            return tree
        tree = original_parse(self)
        cache[key] = (tree, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
        if len(cache) > size:
            cache.popitem(last=False)
        return tree

    ConditionExpressionParser.parse = parse
    return True


def install_linear_item_size_check() -> bool:
    """Check a new item's 400 KB limit once, not once per attribute.

    moto 5.2.1 builds an item attribute by attribute, and each assignment re-sums the size of
    every attribute already there, so building an item of k attributes costs k² size
    computations (a fifth of a transaction's time for our 12-attribute items). The replacement
    computes the same sizes (moto's own `size()` of each value plus its name) once and raises the
    same `ItemSizeTooLarge` above the same 405,000 bytes; sizes are never negative, so checking
    the total equals checking every running sum. Later changes to an item (UpdateItem) keep
    moto's own per-assignment check.
    """
    if moto.__version__ != PATCHED_MOTO_VERSION:
        return False
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    def item_init(self, hash_key, range_key, attrs):
        self.hash_key = hash_key
        self.range_key = range_key
        converted = {key: DynamoType(value) for key, value in attrs.items()}
        total = sum(bytesize(key) + value.size() for key, value in converted.items())
        if total > 405000:
            raise ItemSizeTooLarge
        self.attrs = LimitedSizeDict()
        dict.update(self.attrs, converted)

    Item.__init__ = item_init
    return True


def freeze_survivors_after_each_request(app):
    """Keep the garbage collector's work proportional to one request, not to the whole table.

    A table of 100,000 numbers is millions of Python objects; CPython's collector walks them all
    again and again as the table grows (a fifth of a large import's time). After each request we
    collect what that request left behind (generations 0 and 1: the request's own objects) and
    move the survivors, mostly stored items, out of the collector's sight (`gc.freeze`). Stored
    items are still freed by reference counting when deleted or overwritten.
    """

    def wrapped(environ, start_response):
        try:
            return app(environ, start_response)
        finally:
            gc.collect(1)
            gc.freeze()

    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--no-fast-transactions",
        action="store_true",
        help="run moto unpatched (correct, but slow on large tables)",
    )
    parser.add_argument(
        "--exit-with-stdin",
        action="store_true",
        help="exit when standard input closes (a test process that started this server exits)",
    )
    args = parser.parse_args()
    if args.exit_with_stdin:
        import os
        import threading

        def wait_for_eof() -> None:
            sys.stdin.buffer.read()
            os._exit(0)

        threading.Thread(target=wait_for_eof, daemon=True).start()
    if not args.no_fast_transactions:
        install_fast_transactions()
        install_condition_parse_cache()
        install_linear_item_size_check()
    app = DomainDispatcherApplication(create_backend_app)
    if not args.no_fast_transactions:
        app = freeze_survivors_after_each_request(app)
    run_simple("127.0.0.1", args.port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
