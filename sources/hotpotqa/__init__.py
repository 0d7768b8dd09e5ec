"""HotpotQA: multi-hop questions answered with a Wikipedia search tool."""
