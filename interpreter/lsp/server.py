"""The protocol side of the language server (pygls 2): documents in, answers out.

Each handler turns the protocol's positions (0-based lines, characters in the
client's encoding, UTF-16 by default) into the deal's spans (1-based, in
characters) and back; what it answers comes from ``interpreter.lsp.analysis``.
A document is analysed once per version, when it is opened or changed, and
its diagnostics published then; on save the ``run-deal --check`` path runs on
the saved file (``analysis.saved_diagnostics``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Set

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition

from dsl import ast as A
from dsl.diagnostics import Diagnostic

from .analysis import (Analysis, analyse, completions, definition, hover, outline, references,
                       saved_diagnostics)

SYMBOL_KINDS = {
    "deal": T.SymbolKind.Namespace, "index": T.SymbolKind.Constant, "group": T.SymbolKind.Module,
    "class": T.SymbolKind.Class, "class set": T.SymbolKind.Array, "table": T.SymbolKind.Struct,
    "formula": T.SymbolKind.Function, "parameter": T.SymbolKind.Variable, "account": T.SymbolKind.Object,
    "schedule": T.SymbolKind.Array, "contract": T.SymbolKind.Interface, "distribution": T.SymbolKind.Method,
    "event": T.SymbolKind.Event, "waterfall": T.SymbolKind.Package, "clause": T.SymbolKind.Field,
    "losses": T.SymbolKind.Package,
}
COMPLETION_KINDS = {
    "class": T.CompletionItemKind.Class, "class set": T.CompletionItemKind.Enum,
    "group": T.CompletionItemKind.Module, "index": T.CompletionItemKind.Constant,
    "table": T.CompletionItemKind.Struct, "formula": T.CompletionItemKind.Variable,
    "parameter": T.CompletionItemKind.Variable, "account": T.CompletionItemKind.Variable,
    "schedule": T.CompletionItemKind.Variable, "contract": T.CompletionItemKind.Variable,
    "distribution": T.CompletionItemKind.Method, "event": T.CompletionItemKind.Event,
    "function": T.CompletionItemKind.Function, "value": T.CompletionItemKind.Constant,
    "keyword": T.CompletionItemKind.Keyword,
}
SEVERITY = {"error": T.DiagnosticSeverity.Error, "warning": T.DiagnosticSeverity.Warning}


class WaterfallServer(LanguageServer):
    def __init__(self):
        super().__init__("waterfall-lsp", "0.1.0", text_document_sync_kind=T.TextDocumentSyncKind.Incremental)
        self.analyses: Dict[str, tuple] = {}  # uri -> (version, Analysis)
        self.others: Dict[str, Set[str]] = {}  # uri -> other files' uris it published diagnostics for

    # ---------------------------------------------------------------- documents
    def document(self, uri: str) -> TextDocument:
        return self.workspace.get_text_document(uri)

    def analysis(self, uri: str) -> Analysis:
        doc = self.document(uri)
        cached = self.analyses.get(uri)
        if cached is None or cached[0] != doc.version or cached[1].text != doc.source:
            cached = (doc.version, analyse(doc.source, doc.path or uri))
            self.analyses[uri] = cached
        return cached[1]

    def publish(self, uri: str, by_file: Dict[str, List[Diagnostic]], path: str) -> None:
        """The diagnostics of a deal, each file's to its own uri (the assumptions
        file's beside the deal); a file that had some and has none now is cleared."""
        doc = self.document(uri)
        sent = set()
        for file, diags in by_file.items():
            target = uri if file == path else from_fs_path(file)
            if target is None:
                continue
            lines = doc.lines if target == uri else _file_lines(file)
            items = [_diagnostic(d, lines, doc if target == uri else None) for d in diags]
            self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=target, diagnostics=items))
            sent.add(target)
        for stale in self.others.get(uri, set()) - sent:
            self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=stale, diagnostics=[]))
        self.others[uri] = sent - {uri}

    def refresh(self, uri: str) -> None:
        a = self.analysis(uri)
        self.publish(uri, a.diagnostics, a.path)

    # ---------------------------------------------------------------- positions
    def where(self, uri: str, position: T.Position) -> tuple:
        """A protocol position as the deal's (line, column), 1-based characters."""
        p = self.document(uri).position_from_client_units(position)
        return p.line + 1, p.character + 1

    def range(self, uri: str, span: A.Span) -> T.Range:
        return _range(span, self.document(uri).lines, self.document(uri))

    def location(self, uri: str, span: A.Span) -> T.Location:
        return T.Location(uri=uri, range=self.range(uri, span))


def _file_lines(path: str) -> List[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines(True)
    except (OSError, UnicodeDecodeError):
        return []


def _position(line: int, column: int, lines, doc: Optional[TextDocument]) -> T.Position:
    server = ServerTextPosition(max(line - 1, 0), max(column - 1, 0))
    if doc is not None and server.line < len(lines):
        return doc.position_to_client_units(server)
    return T.Position(line=server.line, character=server.character)


def _range(span: A.Span, lines, doc: Optional[TextDocument]) -> T.Range:
    """A span as a protocol range: ``file:N:C`` is line N-1, character C-1. A span
    that ends on another line (a whole declaration) is shown on its first line."""
    if span.line <= 0:
        return T.Range(start=T.Position(line=0, character=0), end=T.Position(line=0, character=0))
    if span.end_line == span.line and span.end_column > span.column:
        end = span.end_column
    else:
        text = lines[span.line - 1].rstrip() if span.line <= len(lines) else ""
        end = max(len(text) + 1, span.column + 1)
    return T.Range(start=_position(span.line, span.column, lines, doc),
                   end=_position(span.line, end, lines, doc))


def _diagnostic(d: Diagnostic, lines, doc: Optional[TextDocument]) -> T.Diagnostic:
    message = d.message
    if d.expected:
        message += f"\nexpected {d.expected}"
    if d.hint:
        message += f"\n{d.hint}"
    return T.Diagnostic(range=_range(d.span, lines, doc), message=message,
                        severity=SEVERITY.get(d.severity, T.DiagnosticSeverity.Error), source="waterfall")


def _symbol(ls: WaterfallServer, uri: str, item) -> T.DocumentSymbol:
    extent = item.extent
    full = T.Range(start=ls.range(uri, extent).start,
                   end=_position(extent.end_line, extent.end_column, ls.document(uri).lines, ls.document(uri)))
    return T.DocumentSymbol(name=item.name or item.kind, detail=item.detail or None,
                            kind=SYMBOL_KINDS.get(item.kind, T.SymbolKind.Key), range=full,
                            selection_range=ls.range(uri, item.span),
                            children=[_symbol(ls, uri, c) for c in item.children] or None)


def build_server() -> WaterfallServer:
    ls = WaterfallServer()

    @ls.feature(T.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: WaterfallServer, params: T.DidOpenTextDocumentParams):
        ls.refresh(params.text_document.uri)

    @ls.feature(T.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: WaterfallServer, params: T.DidChangeTextDocumentParams):
        ls.refresh(params.text_document.uri)

    @ls.feature(T.TEXT_DOCUMENT_DID_SAVE, T.SaveOptions(include_text=False))
    def did_save(ls: WaterfallServer, params: T.DidSaveTextDocumentParams):
        uri = params.text_document.uri
        path = ls.document(uri).path
        if path is None:  # not a file: the edit's diagnostics stand
            return
        ls.publish(uri, saved_diagnostics(path), path)

    @ls.feature(T.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: WaterfallServer, params: T.DidCloseTextDocumentParams):
        uri = params.text_document.uri
        ls.analyses.pop(uri, None)
        for other in ls.others.pop(uri, set()) | {uri}:
            ls.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=other, diagnostics=[]))

    @ls.feature(T.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: WaterfallServer, params: T.HoverParams):
        uri = params.text_document.uri
        found = hover(ls.analysis(uri), *ls.where(uri, params.position))
        if found is None:
            return None
        text, span = found
        return T.Hover(contents=T.MarkupContent(kind=T.MarkupKind.Markdown, value=text), range=ls.range(uri, span))

    @ls.feature(T.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: WaterfallServer, params: T.DefinitionParams):
        uri = params.text_document.uri
        sym = definition(ls.analysis(uri), *ls.where(uri, params.position))
        return ls.location(uri, sym.span) if sym is not None else None

    @ls.feature(T.TEXT_DOCUMENT_REFERENCES)
    def on_references(ls: WaterfallServer, params: T.ReferenceParams):
        uri = params.text_document.uri
        spans = references(ls.analysis(uri), *ls.where(uri, params.position),
                           include_declaration=params.context.include_declaration)
        return [ls.location(uri, s) for s in spans]

    @ls.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=["("]))
    def on_completion(ls: WaterfallServer, params: T.CompletionParams):
        items = [T.CompletionItem(label=c.label, kind=COMPLETION_KINDS.get(c.kind), detail=c.detail or None,
                                  documentation=c.documentation or None)
                 for c in completions(ls.analysis(params.text_document.uri))]
        return T.CompletionList(is_incomplete=False, items=items)

    @ls.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def on_document_symbol(ls: WaterfallServer, params: T.DocumentSymbolParams):
        uri = params.text_document.uri
        return [_symbol(ls, uri, item) for item in outline(ls.analysis(uri))]

    return ls
