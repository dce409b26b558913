// typedoc 0.28 is built on the TypeScript 5/6 compiler API, which TypeScript 7
// (this project's compiler, a native binary) no longer ships. `npm run docs`
// loads this hook first: it sends typedoc's imports of `typescript` to the
// `typescript-6` devDependency (an npm alias of typescript@6), and leaves
// every other import alone.
import { register } from 'node:module';

const hook = `
export async function resolve(specifier, context, next) {
  const fromTypedoc = context.parentURL?.includes('/node_modules/typedoc/') ?? false;
  if (fromTypedoc && (specifier === 'typescript' || specifier.startsWith('typescript/'))) {
    return next('typescript-6' + specifier.slice('typescript'.length), context);
  }
  return next(specifier, context);
}`;

register(`data:text/javascript,${encodeURIComponent(hook)}`);
