"""The language server end to end: pygls's client speaks the protocol over a pipe
to the real server process (python -m interpreter.lsp). Skipped without the 'lsp' extra."""
import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("pygls")
from lsprotocol import types as T  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEALS = ROOT / "deals"
TIMEOUT = 30  # seconds for any one answer (a loaded machine is slow): a hung server fails the test, named
BROKEN_SYNTAX = ("    coupon    5.75%", "    coupon    5.75% +")
BROKEN_NAME = ("pay principal sequentially to A, B, C, D", "pay principal sequentially to A, B, C, E")


def _pos(text, needle, offset=0, nth=0):
    """The protocol's position of a needle in the text: 0-based line and character."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += offset
    return T.Position(line=text.count("\n", 0, at), character=at - (text.rfind("\n", 0, at) + 1))


class _Session:
    """A client, its server process and the diagnostics it publishes, by uri."""

    def __init__(self):
        self.client = LanguageClient("waterfall-test", "1")
        self.diagnostics = {}
        self.arrived = asyncio.Condition()

        @self.client.feature(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        async def on_diagnostics(params):
            async with self.arrived:
                self.diagnostics[params.uri] = params.diagnostics
                self.arrived.notify_all()

    async def diagnostics_for(self, uri):
        """The next diagnostics published for uri."""
        async with self.arrived:
            self.diagnostics.pop(uri, None)
            await self.call(f"diagnostics for {uri}", self.arrived.wait_for(lambda: uri in self.diagnostics))
            return list(self.diagnostics[uri])

    async def call(self, what, coro):
        try:
            return await asyncio.wait_for(coro, TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"no {what} within {TIMEOUT} s") from None


async def _scenario(tmp_path):
    deal = tmp_path / "seq.waterfall"
    shutil.copy(DEALS / "sequential-cmo.waterfall", deal)
    shutil.copy(DEALS / "sequential-cmo.assumptions.yaml", tmp_path / "seq.assumptions.yaml")
    uri = from_fs_path(str(deal))
    text = deal.read_text(encoding="utf-8")
    s = _Session()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    await s.client.start_io(sys.executable, "-m", "interpreter.lsp", env=env, cwd=str(ROOT))
    server = s.client._server
    try:
        init = await s.call("initialize",
                            s.client.initialize_async(T.InitializeParams(capabilities=T.ClientCapabilities())))
        caps = init.capabilities
        assert caps.hover_provider and caps.definition_provider and caps.references_provider
        assert caps.completion_provider and caps.document_symbol_provider
        s.client.initialized(T.InitializedParams())

        # didOpen a bundled deal: no diagnostics
        async with s.arrived:
            s.diagnostics.clear()
        s.client.text_document_did_open(T.DidOpenTextDocumentParams(
            text_document=T.TextDocumentItem(uri=uri, language_id="waterfall", version=1, text=text)))
        assert await s.diagnostics_for(uri) == []

        doc = T.TextDocumentIdentifier(uri=uri)
        # hover on 'A' in clause 2: class A's block
        use = _pos(text, "to A, B", len("to "), nth=1)
        h = await s.call("hover", s.client.text_document_hover_async(T.HoverParams(text_document=doc, position=use)))
        assert 'class A "Sequential"\n    balance   80,000,000' in h.contents.value
        assert h.range.start == use
        # definition: 'class A' is on the line of 'class A "', the name after 'class '
        d = await s.call("definition", s.client.text_document_definition_async(
            T.DefinitionParams(text_document=doc, position=use)))
        d = d[0] if isinstance(d, list) else d
        assert d.uri == uri and d.range.start == _pos(text, 'class A "', len("class "))
        # references: the declaration and the two clauses that pay A
        refs = await s.call("references", s.client.text_document_references_async(T.ReferenceParams(
            text_document=doc, position=use, context=T.ReferenceContext(include_declaration=True))))
        assert [r.range.start for r in refs] == [_pos(text, 'class A "', len("class ")),
                                                  _pos(text, "to A, B", len("to ")), use]
        # completion: the deal's names, built-ins, keywords
        c = await s.call("completion", s.client.text_document_completion_async(T.CompletionParams(
            text_document=doc, position=use)))
        labels = {i.label: i.kind for i in (c.items if hasattr(c, "items") else c)}
        assert labels["A"] == T.CompletionItemKind.Class and labels["pool_end"] == T.CompletionItemKind.Function
        assert labels["sequentially"] == T.CompletionItemKind.Keyword
        # the outline of a file that parses
        symbols = await s.call("documentSymbol", s.client.text_document_document_symbol_async(
            T.DocumentSymbolParams(text_document=doc)))
        assert [x.name for x in symbols] == ["Sequential CMO 2024-1", "1", "A", "B", "C", "D", "R", "waterfall"]
        assert [x.name for x in symbols[-1].children] == ["1) Interest", "2) Principal", "3) Residual"]

        # didChange to a text that does not parse: one diagnostic where the '+' leaves the line unfinished
        broken = text.replace(*BROKEN_SYNTAX)
        s.client.text_document_did_change(T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[T.TextDocumentContentChangeWholeDocument(text=broken)]))
        [diag] = await s.diagnostics_for(uri)
        # run-deal says 'seq.waterfall:29:22: unexpected end of line': 0-based line 28, character 21,
        # just after the '+' (hand count: 4 spaces + 'coupon' + 4 spaces + '5.75%' + ' +' = 21 characters)
        assert diag.range.start == T.Position(line=28, character=21)
        assert _pos(broken, "5.75% +", len("5.75% +")) == diag.range.start
        assert diag.message.startswith("unexpected end of line") and diag.severity == T.DiagnosticSeverity.Error
        # its outline comes from the line scan
        symbols = await s.call("documentSymbol", s.client.text_document_document_symbol_async(
            T.DocumentSymbolParams(text_document=doc)))
        assert [x.name for x in symbols] == ["Sequential CMO 2024-1", "1", "A", "B", "C", "D", "R", "waterfall"]

        # an incremental change that takes the '+' away: sound again
        where = _pos(broken, " +")
        s.client.text_document_did_change(T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=3),
            content_changes=[T.TextDocumentContentChangePartial(
                range=T.Range(start=where, end=T.Position(line=where.line, character=where.character + 2)),
                text="")]))
        assert await s.diagnostics_for(uri) == []
        # a text that parses but names an unknown class: the caret under the name
        renamed = text.replace(*BROKEN_NAME)
        s.client.text_document_did_change(T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=4),
            content_changes=[T.TextDocumentContentChangeWholeDocument(text=renamed)]))
        diags = await s.diagnostics_for(uri)
        e = next(x for x in diags if x.message.startswith("unknown class 'E'"))
        assert e.range.start == _pos(renamed, "C, E", len("C, "))
        assert e.range.end.character == e.range.start.character + 1  # the name 'E' underlined

        # positions are counted in UTF-16 code units: an emoji before the name counts two
        emoji = text.replace('class R "Residual"', 'define x "\U0001F600" = y\nclass R "Residual"')
        s.client.text_document_did_change(T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=5),
            content_changes=[T.TextDocumentContentChangeWholeDocument(text=emoji)]))
        [y] = await s.diagnostics_for(uri)
        assert y.message == "unknown name 'y'"
        line = emoji.splitlines().index('define x "\U0001F600" = y')
        assert (y.range.start.line, y.range.start.character) == (line, len('define x "\U0001F600" = ') + 1)

        # didSave: the check path on the saved file (the assumptions' diagnostics, to their own file)
        (tmp_path / "seq.assumptions.yaml").write_text("severity: 35%\n", encoding="utf-8")
        deal.write_text(text, encoding="utf-8")
        s.client.text_document_did_change(T.DidChangeTextDocumentParams(
            text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=6),
            content_changes=[T.TextDocumentContentChangeWholeDocument(text=text)]))
        await s.diagnostics_for(uri)
        auri = from_fs_path(str(tmp_path / "seq.assumptions.yaml"))
        # the assumptions' diagnostics may come with the change or with the save (a server
        # need not publish the same list twice): either way they reach their own file
        s.client.text_document_did_save(T.DidSaveTextDocumentParams(text_document=doc))
        assert await s.diagnostics_for(uri) == []
        [missing] = s.diagnostics[auri] if auri in s.diagnostics else await s.diagnostics_for(auri)
        assert "collateral" in missing.message

        await s.call("shutdown", s.client.shutdown_async(None))
        s.client.exit(None)
        await s.call("exit of the server", server.wait())
        assert server.returncode == 0
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
        await s.call("stop of the client", s.client.stop())


def test_the_server_over_a_pipe(tmp_path):
    asyncio.run(_scenario(tmp_path))
