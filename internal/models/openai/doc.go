// Package openai is vindex's client for hosted model providers that speak
// the OpenAI HTTP API: OpenAI itself, Azure-style gateways, and self-hosted
// servers with OpenAI-compatible endpoints (vLLM, Ollama, LocalAI,
// faster-whisper-server, Jina, ...). It transcribes audio and embeds text,
// and, for servers that offer multimodal embeddings, images.
//
// The base URL given to New includes the API version, exactly like the
// OpenAI SDKs' OPENAI_BASE_URL: "https://api.openai.com/v1",
// "http://localhost:11434/v1", "https://api.jina.ai/v1". Paths such as
// "/audio/transcriptions" are appended to it.
//
// Every call is retried on rate limits (429), server errors (5xx) and
// network failures, honouring Retry-After, and then fails with an error
// wrapping ErrTemporary. Callers branch on ErrAuth (fix the key), ErrRequest
// (the request can never succeed as sent), ErrTemporary (try again later)
// and ErrDimensions (the model cannot produce the configured vector size);
// *APIError carries what the server said.
package openai
