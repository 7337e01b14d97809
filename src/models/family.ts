/**
 * The vendor before the `/` of an OpenRouter model id is its family. Here, below the panel and the
 * pipelines, because both need it: the panel to fill a member's `family`, the ask pipeline to
 * describe a chair that is not a member.
 */
export function familyOf(model: string): string {
  const slash = model.indexOf('/');
  return slash > 0 ? model.slice(0, slash) : model.replace(/[:@].*$/, '');
}
