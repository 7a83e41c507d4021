package outlier.harness;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every variable a mustache template reads, resolved against the params it is rendered with,
 * the way mustache looks names up: the first dotted part in the innermost section scope that
 * has it, the rest by map key or list index (OpenSearch's mustache reads {@code results.0}).
 * Sections over a list are checked once per element; a section whose value is false, null
 * or an empty list is not rendered, so its body is not checked in that render.
 *
 * <p>A name that resolves nowhere is "missing" (the plugin does not pass it: mustache would
 * print nothing); a name found with a null value is "null" (it prints nothing either).
 */
final class TemplateRefs {
    private static final Pattern TAG =
        Pattern.compile("\\{\\{(\\{)?\\s*([#^/!&]?)\\s*([^}]*?)\\s*\\}?\\}\\}");
    private static final Object MISSING = new Object();

    final List<String> missing = new ArrayList<>();
    final List<String> nulls = new ArrayList<>();

    private record Tag(String kind, String name, int index) {}

    static TemplateRefs check(String template, Map<String, Object> params) {
        List<Tag> tags = new ArrayList<>();
        Matcher m = TAG.matcher(template);
        while (m.find()) {
            String kind = m.group(2).isEmpty() ? "" : m.group(2);
            if (!kind.equals("!")) {
                tags.add(new Tag(kind.equals("&") ? "" : kind, m.group(3), tags.size()));
            }
        }
        TemplateRefs refs = new TemplateRefs();
        Deque<Object> scopes = new ArrayDeque<>();
        scopes.push(params);
        refs.walk(tags, 0, tags.size(), scopes, "");
        return refs;
    }

    private int close(List<Tag> tags, int open) {
        int depth = 0;
        for (int i = open + 1; i < tags.size(); i++) {
            Tag t = tags.get(i);
            if ((t.kind.equals("#") || t.kind.equals("^")) && t.name.equals(tags.get(open).name)) {
                depth++;
            } else if (t.kind.equals("/") && t.name.equals(tags.get(open).name)) {
                if (depth == 0) {
                    return i;
                }
                depth--;
            }
        }
        throw new IllegalArgumentException("unclosed section {{#" + tags.get(open).name + "}}");
    }

    private void walk(List<Tag> tags, int from, int to, Deque<Object> scopes, String where) {
        int i = from;
        while (i < to) {
            Tag tag = tags.get(i);
            if (tag.kind.equals("/")) {
                throw new IllegalArgumentException("unopened {{/" + tag.name + "}}");
            }
            Object value = resolve(scopes, tag.name);
            String label = where + tag.name;
            if (value == MISSING) {
                missing.add(label);
            } else if (value == null && tag.kind.isEmpty()) {
                nulls.add(label);
            }
            if (tag.kind.isEmpty()) {
                i++;
                continue;
            }
            int end = close(tags, i);
            boolean falsy = value == MISSING || value == null || Boolean.FALSE.equals(value)
                || (value instanceof List<?> list && list.isEmpty());
            if (tag.kind.equals("^")) {
                if (falsy) {
                    walk(tags, i + 1, end, scopes, where);
                }
            } else if (!falsy) {
                List<?> items = value instanceof List<?> list ? list : List.of(value);
                for (int k = 0; k < items.size(); k++) {
                    scopes.push(items.get(k));
                    walk(tags, i + 1, end, scopes, label + "[" + k + "]/");
                    scopes.pop();
                }
            }
            i = end + 1;
        }
    }

    private static Object resolve(Deque<Object> scopes, String name) {
        if (name.equals(".")) {
            return scopes.peek();
        }
        String[] parts = name.split("\\.");
        for (Object scope : scopes) {
            Object first = child(scope, parts[0]);
            if (first == MISSING) {
                continue;
            }
            Object node = first;
            for (int k = 1; k < parts.length && node != MISSING; k++) {
                node = child(node, parts[k]);
            }
            return node;
        }
        return MISSING;
    }

    private static Object child(Object node, String key) {
        if (node instanceof Map<?, ?> map) {
            return map.containsKey(key) ? map.get(key) : MISSING;
        }
        if (node instanceof List<?> list && key.chars().allMatch(Character::isDigit)) {
            int index = Integer.parseInt(key);
            return index < list.size() ? list.get(index) : MISSING;
        }
        return MISSING;
    }
}
