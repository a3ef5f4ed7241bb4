"""``batchscribe doctor --summarize``: does the Azure OpenAI deployment answer with these
credentials? One tiny chat request (a handful of tokens) through the client a run uses."""

from __future__ import annotations

from batchscribe.config.entra import TokenSource
from batchscribe.config.settings import Endpoint, RunSettings
from batchscribe.errors import SummaryError
from batchscribe.summaries.hook import summaries_endpoint


def probe_summaries(
    settings: RunSettings, endpoints: tuple[Endpoint, ...], credential: TokenSource | None = None
) -> tuple[bool, str, str]:
    """(ok, what was found, the fix) for the doctor's ``summaries`` line."""
    from batchscribe.summaries.client import ChatClient  # imports openai: only when asked for

    options = settings.summaries
    if options is None:
        return True, "not asked for", ""
    client = ChatClient(options, endpoint=summaries_endpoint(options, endpoints), credential=credential)
    where = f"deployment {options.deployment} at {client.endpoint}"
    try:
        model = client.probe()
    except SummaryError as exc:
        return False, client.mask(exc.message), exc.hint
    finally:
        client.close()
    return True, f"{where} answered (model {model or 'not reported'})", ""
