{#- Masked: the card number never reaches the marts (see stg_sales__credit_cards). -#}
with

credit_cards as (

    select * from {{ ref('stg_sales__credit_cards') }}

),

final as (

    select
        credit_card_id,
        card_type,
        card_number_last_four,
        {{ dbt.concat(["'**** **** **** '", "card_number_last_four"]) }} as masked_card_number,
        card_number_hash,
        expiry_month,
        expiry_year

    from credit_cards

)

select * from final
