/** Work that runs until its signal aborts, then rejects with the abort reason. */
export function honours({ signal }: { readonly signal: AbortSignal }): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
}
