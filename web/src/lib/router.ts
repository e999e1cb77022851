import { useEffect, useState } from 'preact/hooks';

/** Where the admin UI is: the part of the URL after `#`, as a path and its query. */
export interface Route {
  path: string;
  query: URLSearchParams;
}

function current(): Route {
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  return { path: path || '/', query: new URLSearchParams(query) };
}

/** Hash routing: the daemon serves one page, and a reload lands on the same screen. */
export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const on = () => setRoute(current());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function navigate(path: string): void {
  location.hash = path;
}

export const href = (path: string) => `#${path}`;
