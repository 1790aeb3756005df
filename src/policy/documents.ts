import YAML from 'yaml';

/** Objects as one YAML stream (`---` between documents), a comment at the top. */
export function toYamlDocuments(objects: readonly object[], comment: string): string {
  return objects
    .map((object, i) => {
      const doc = new YAML.Document(object);
      if (i === 0) doc.commentBefore = comment.replace(/^/gm, ' ');
      return doc.toString({ lineWidth: 0, blockQuote: 'literal' });
    })
    .join('---\n');
}
