/* The Markdown the server rendered into a labeling page (the conversation,
   the answers, the guidelines) gets what chat answers get: code blocks
   with their language and Copy, tables that scroll in their frame. */
import { $$ } from '../lib/dom.js';
import { enhanceMarkdown } from '../lib/markdown.js';

for (const root of $$('.md')) enhanceMarkdown(root);
