// Package eval measures how well search lands on labelled moments. Its
// tests render a set of clips (slides with on-screen text, colours and
// shapes, espeak-ng speech, the shared night-city footage under the JFK
// recording), ingest them through the real pipeline with whatever models
// are configured, ask paraphrased queries labelled with the video, time and
// modality they mean, and print recall@1, recall@5, MRR and start-time
// error per modality (make eval). The package itself is the scoring.
package eval
