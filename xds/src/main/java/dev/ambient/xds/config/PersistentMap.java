package dev.ambient.xds.config;

import static java.util.Objects.requireNonNull;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;

/**
 * An immutable hash map whose updated copies share what did not change: the entries live in {@value #SHARDS}
 * shards by hash, and {@link Editor#build()} copies only the shards an edit touched. A one-entry change of an
 * 11,000-entry map copies ~43 entries and a {@value #SHARDS}-slot array instead of the whole map, so a reload
 * that changes one file costs in proportion to the change.
 *
 * <p>Iteration order is by shard, then the shard's hash order: stable for the same content, not insertion
 * order. Keys and values are never null. {@code equals} and {@code hashCode} are {@link Map}'s.
 */
public final class PersistentMap<K, V> extends AbstractMap<K, V> {
  static final int SHARDS = 256;
  private static final PersistentMap<?, ?> EMPTY = new PersistentMap<>(emptyShards(), 0);

  private final Map<K, V>[] shards;
  private final int size;
  private @Nullable Set<Entry<K, V>> entrySet;

  private PersistentMap(Map<K, V>[] shards, int size) {
    this.shards = shards;
    this.size = size;
  }

  @SuppressWarnings("unchecked")
  private static <K, V> Map<K, V>[] emptyShards() {
    Map<K, V>[] s = new Map[SHARDS];
    java.util.Arrays.fill(s, Map.of());
    return s;
  }

  @SuppressWarnings("unchecked")
  public static <K, V> PersistentMap<K, V> of() {
    return (PersistentMap<K, V>) EMPTY;
  }

  /** {@code map} itself when it is a {@code PersistentMap}, else a copy. */
  public static <K, V> PersistentMap<K, V> copyOf(Map<? extends K, ? extends V> map) {
    if (map instanceof PersistentMap<?, ?>) {
      @SuppressWarnings("unchecked")
      PersistentMap<K, V> same = (PersistentMap<K, V>) map;
      return same;
    }
    Editor<K, V> e = PersistentMap.<K, V>of().edit();
    map.forEach(e::put);
    return e.build();
  }

  private static int shard(Object key) {
    int h = key.hashCode();
    h ^= h >>> 16;
    h ^= h >>> 8;
    return h & (SHARDS - 1);
  }

  /** Starts a batch of changes to a copy of this map; this map is not changed. */
  public Editor<K, V> edit() {
    return new Editor<>(this);
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public @Nullable V get(Object key) {
    return shards[shard(key)].get(key);
  }

  @Override
  public boolean containsKey(Object key) {
    return shards[shard(key)].containsKey(key);
  }

  @Override
  public void forEach(BiConsumer<? super K, ? super V> action) {
    for (Map<K, V> s : shards) {
      s.forEach(action);
    }
  }

  @Override
  public Set<Entry<K, V>> entrySet() {
    Set<Entry<K, V>> es = entrySet;
    if (es == null) {
      es = new AbstractSet<>() {
        @Override
        public Iterator<Entry<K, V>> iterator() {
          return new Iterator<>() {
            private int next;
            private Iterator<Entry<K, V>> current = Collections.emptyIterator();

            @Override
            public boolean hasNext() {
              while (!current.hasNext() && next < SHARDS) {
                current = shards[next++].entrySet().iterator();
              }
              return current.hasNext();
            }

            @Override
            public Entry<K, V> next() {
              if (!hasNext()) {
                throw new NoSuchElementException();
              }
              return current.next();
            }
          };
        }

        @Override
        public int size() {
          return size;
        }
      };
      entrySet = es;
    }
    return es;
  }

  /**
   * A batch of puts and removes on a copy of a map. Not thread-safe; {@link #build()} may be called once per
   * batch and the editor may go on editing after it (further changes copy the touched shards again).
   */
  public static final class Editor<K, V> {
    private final Map<K, V>[] shards;
    private final boolean[] owned = new boolean[SHARDS];
    private int size;

    private Editor(PersistentMap<K, V> base) {
      this.shards = base.shards.clone();
      this.size = base.size;
    }

    private HashMap<K, V> writable(int i) {
      if (!owned[i]) {
        shards[i] = new HashMap<>(shards[i]);
        owned[i] = true;
      }
      return (HashMap<K, V>) shards[i];
    }

    /** Returns the previous value, or null. */
    public @Nullable V put(K key, V value) {
      requireNonNull(key, "key");
      requireNonNull(value, "value");
      int i = shard(key);
      if (shards[i].get(key) == value) {
        return value;
      }
      V old = writable(i).put(key, value);
      if (old == null) {
        size++;
      }
      return old;
    }

    /** Returns the removed value, or null. */
    public @Nullable V remove(Object key) {
      int i = shard(key);
      if (!shards[i].containsKey(key)) {
        return null;
      }
      V old = writable(i).remove(key);
      size--;
      return old;
    }

    public @Nullable V get(Object key) {
      return shards[shard(key)].get(key);
    }

    public PersistentMap<K, V> build() {
      @SuppressWarnings("unchecked")
      Map<K, V>[] out = new Map[SHARDS];
      for (int i = 0; i < SHARDS; i++) {
        if (owned[i]) {
          Map<K, V> s = shards[i];
          shards[i] = s.isEmpty() ? Map.of() : Collections.unmodifiableMap(s);
          owned[i] = false;
        }
        out[i] = shards[i];
      }
      return new PersistentMap<>(out, size);
    }
  }
}
