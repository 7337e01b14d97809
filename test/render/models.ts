/** The panel the consensus.md fixtures name, port by port. */
export const models = [
  'meta-llama/llama-3.3-70b-instruct:free',
  'deepseek/deepseek-chat:free',
  'google/gemma-3-27b-it:free',
  'mistralai/mistral-small:free',
  'qwen/qwen-2.5-72b-instruct:free',
  'microsoft/phi-4:free',
  'nvidia/nemotron:free',
  'moonshot/kimi:free',
].map((model, port) => ({ port, model }));
