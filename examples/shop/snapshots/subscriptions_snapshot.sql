{% snapshot subscriptions_snapshot %}

{{
    config(
        target_schema='snapshots',
        unique_key='id',
        strategy='timestamp',
        updated_at='updated_at'
    )
}}

-- Type-2 history of subscription state (plan changes, cancellations).
select * from {{ source('shop_raw', 'raw_subscriptions') }}

{% endsnapshot %}
